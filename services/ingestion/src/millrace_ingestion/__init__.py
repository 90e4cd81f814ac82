"""Millrace ingestion: arrived files in, validated and versioned datasets (or rejections) out."""
