"""The watcher's logic, free of Kafka and HTTP: objects in, arrivals out."""
