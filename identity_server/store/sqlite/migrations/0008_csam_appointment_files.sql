-- The identity document files of video-interview appointments (recto and verso), kept apart
-- from the appointment's JSON document; the interviewer opens them from the console.
CREATE TABLE csam_appointment_files (
    file_id TEXT PRIMARY KEY,
    appointment_id TEXT NOT NULL,
    media_type TEXT NOT NULL,
    filename TEXT NOT NULL,
    data BLOB NOT NULL,
    created_at REAL NOT NULL
);
CREATE INDEX csam_appointment_files_appointment ON csam_appointment_files (appointment_id)
