"""Pure training logic: no Kafka, no HTTP; ports are passed in."""
