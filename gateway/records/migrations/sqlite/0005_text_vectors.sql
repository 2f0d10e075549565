-- Prompt vectors (issue 14): what an encoder made of a text, kept so that retraining embeds
-- only the texts never embedded before. The gateway's k-NN route stores the vector it
-- computed for a captured prompt (with the record, through the outbox); a retrain stores the
-- ones it had to compute. Keyed by encoder and text_hash (routers.datasets.text) of the
-- embedded text: a vector depends only on these two. `vector` is `dim` little-endian float32.
CREATE TABLE text_vectors (
    encoder TEXT NOT NULL,
    text_hash TEXT NOT NULL,
    dim INTEGER NOT NULL,
    vector BLOB NOT NULL,
    created_at REAL NOT NULL,
    PRIMARY KEY (encoder, text_hash)
) WITHOUT ROWID;
