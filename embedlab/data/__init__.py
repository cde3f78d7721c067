"""Stage 1, the data: the tokenizer, the review sources, `embedlab prepare`,
the TFRecord schema and reader, and `embedlab inspect`."""
