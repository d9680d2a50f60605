//! Request extractors whose rejections use the API error shape.

use axum::body::Bytes;
use axum::extract::multipart::Field;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Multipart, Request};
use axum::http::{StatusCode, header};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::domain::input::{Labels, decode};
use crate::error::AppError;

/// `Json<T>` whose every rejection is a 4xx in the error shape, in Chinese.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(ApiJson(v)),
            Err(rej) => Err(json_rejection(rej)),
        }
    }
}

pub fn json_rejection(rej: JsonRejection) -> AppError {
    match rej {
        JsonRejection::MissingJsonContentType(_) => AppError::UnsupportedMediaType(
            "请求体须为 JSON，并设置 Content-Type: application/json".into(),
        ),
        JsonRejection::JsonSyntaxError(e) => {
            AppError::BadRequest(format!("JSON 格式错误：{}", e.body_text()))
        }
        JsonRejection::JsonDataError(e) => AppError::Unprocessable {
            code: "invalid_body",
            message: format!("请求内容不符合要求：{}", e.body_text()),
            details: Value::Null,
        },
        JsonRejection::BytesRejection(e) => {
            if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                AppError::PayloadTooLarge("请求体超过大小上限，请缩小后重试".into())
            } else {
                AppError::BadRequest("无法读取请求体".into())
            }
        }
        other => AppError::BadRequest(format!("请求无效：{}", other.body_text())),
    }
}

/// A use case's typed input from a JSON body: syntax, media type and size are refused as
/// `ApiJson` refuses them; a body that does not fit `T` answers 422 naming the field in
/// Chinese (`crate::domain::input::decode`).
pub struct Input<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Labels> FromRequest<S> for Input<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let ApiJson(v) = ApiJson::<Value>::from_request(req, state).await?;
        decode::<T>(v).map(Input).map_err(AppError::Validation)
    }
}

/// A page form (its fields as a JSON object of strings) decoded into a use case's input.
pub fn form_input<T: DeserializeOwned + Labels>(form: Map<String, Value>) -> Result<T, AppError> {
    decode::<T>(Value::Object(form)).map_err(AppError::Validation)
}

/// A JSON object body (for records validated against a spec).
pub struct ApiObject(pub Map<String, Value>);

impl<S: Send + Sync> FromRequest<S> for ApiObject {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let ApiJson(v) = ApiJson::<Value>::from_request(req, state).await?;
        match v {
            Value::Object(m) => Ok(ApiObject(m)),
            _ => Err(AppError::BadRequest("请求体应为 JSON 对象".into())),
        }
    }
}

/// A request's `Content-Type`, lower-cased; empty when absent or not text.
pub fn content_type(req: &Request) -> String {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase()
}

/// Parses an id from the path; anything that is not a positive integer is "not found".
pub fn parse_id(s: &str) -> Result<i64, AppError> {
    s.parse::<i64>()
        .ok()
        .filter(|i| *i > 0)
        .ok_or(AppError::NotFound)
}

/// An uploaded file: the multipart field `file`, or the raw body (named `upload.csv` /
/// `upload.json` / `upload` after its content type). `too_big` is the route's own message
/// for a body over its limit; `expected` names the accepted file types.
pub async fn read_upload<S: Send + Sync>(
    req: Request,
    state: &S,
    too_big: impl Fn() -> AppError,
    expected: &str,
) -> Result<(String, Vec<u8>), AppError> {
    let ct = content_type(&req);
    let unreadable = |status: StatusCode, msg: String| {
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            too_big()
        } else {
            AppError::BadRequest(msg)
        }
    };
    if ct.starts_with("multipart/form-data") {
        let mut mp = Multipart::from_request(req, state)
            .await
            .map_err(|e| AppError::BadRequest(format!("上传内容无法解析：{}", e.body_text())))?;
        while let Some(field) = mp
            .next_field()
            .await
            .map_err(|e| unreadable(e.status(), format!("上传内容无法解析：{}", e.body_text())))?
        {
            if field.name() == Some("file") {
                let name = field.file_name().unwrap_or("upload").to_string();
                let data = field
                    .bytes()
                    .await
                    .map_err(|e| unreadable(e.status(), "上传文件读取失败".into()))?;
                return Ok((name, data.to_vec()));
            }
        }
        Err(AppError::invalid(
            "file",
            format!("请在表单字段 file 中上传 {expected} 文件"),
        ))
    } else {
        let name = if ct.contains("json") {
            "upload.json"
        } else if ct.contains("csv") {
            "upload.csv"
        } else {
            "upload"
        };
        let data = Bytes::from_request(req, state)
            .await
            .map_err(|e| unreadable(e.status(), "无法读取上传内容".into()))?;
        Ok((name.into(), data.to_vec()))
    }
}

/// The route's error for an upload over its limit: "`what`不能超过 N MB".
pub fn too_large(what: &'static str, max_bytes: usize) -> impl Fn() -> AppError {
    move || AppError::PayloadTooLarge(format!("{what}不能超过 {} MB", max_bytes / 1024 / 1024))
}

/// The request's multipart body; any other body is a 400 that names the expected `fields`
/// (e.g. "字段 file 与 item").
pub async fn multipart<S: Send + Sync>(
    req: Request,
    state: &S,
    fields: &str,
) -> Result<Multipart, AppError> {
    Multipart::from_request(req, state).await.map_err(|e| {
        AppError::BadRequest(format!(
            "请以 multipart/form-data 上传，{fields}：{}",
            e.body_text()
        ))
    })
}

/// The next field of a multipart body; a body over the route's limit is `too_big()`.
pub async fn next_field<'m>(
    mp: &'m mut Multipart,
    too_big: &impl Fn() -> AppError,
) -> Result<Option<Field<'m>>, AppError> {
    mp.next_field().await.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            too_big()
        } else {
            AppError::BadRequest("上传内容无法解析".into())
        }
    })
}

/// A file field read whole: the client's file name (empty when it sent none) and the
/// bytes; a file over the route's limit is `too_big()`.
pub async fn file_field(
    field: Field<'_>,
    too_big: &impl Fn() -> AppError,
) -> Result<(String, Bytes), AppError> {
    let name = field.file_name().unwrap_or_default().to_string();
    let data = field.bytes().await.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            too_big()
        } else {
            AppError::BadRequest("上传文件读取失败".into())
        }
    })?;
    Ok((name, data))
}

/// A multipart form read whole: the last `file` field, and the text of the last field of
/// each name in `texts` (others are skipped). A text field that cannot be read is a 400
/// that names it.
pub struct UploadForm {
    pub file: Option<(String, Bytes)>,
    pub texts: std::collections::HashMap<String, String>,
}

/// Reads a multipart form (see [`UploadForm`]); a body over the route's limit is
/// `too_big()`.
pub async fn read_form(
    mut mp: Multipart,
    too_big: &impl Fn() -> AppError,
    texts: &[&str],
) -> Result<UploadForm, AppError> {
    let mut form = UploadForm {
        file: None,
        texts: std::collections::HashMap::new(),
    };
    while let Some(field) = next_field(&mut mp, too_big).await? {
        let name = field.name().unwrap_or_default().to_string();
        if name == "file" {
            form.file = Some(file_field(field, too_big).await?);
        } else if texts.contains(&name.as_str()) {
            let text = field
                .text()
                .await
                .map_err(|_| AppError::BadRequest(format!("字段 {name} 读取失败")))?;
            form.texts.insert(name, text);
        }
    }
    Ok(form)
}
