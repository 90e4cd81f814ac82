"""The registry's logic: records, storage over the object-store port, the policy, use cases.

Nothing here talks to Kafka or HTTP; the object store and the clock are passed in.
"""
