"""Monitoring's pure logic: statistics, windows, references, performance; no Kafka, no HTTP."""
