-- Inspection photos (巡检照片): pictures uploaded as the evidence of a photo item; the files
-- live under the data directory like ticket attachments. A photo item's reading holds the
-- ids of its photos. Keep in step with migrations/postgres/0016_inspection_photos.sql.
CREATE TABLE inspection_photos (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    task_id BIGINT NOT NULL REFERENCES inspection_tasks(id) ON DELETE CASCADE,
    item_key TEXT NOT NULL,
    file_name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    stored_path TEXT NOT NULL,
    uploaded_by BIGINT,
    uploaded_by_name TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX inspection_photos_task ON inspection_photos(task_id, id);
