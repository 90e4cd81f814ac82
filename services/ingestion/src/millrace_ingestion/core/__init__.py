"""Pure ingestion logic: no Kafka, no HTTP; the object store is passed in."""
