"""Stage 1, the data: the tokenizer, the review sources, `embedlab prepare`
(with its encoding on two cores and the records' order), the TFRecord schema,
its writer (no TensorFlow) and reader, and `embedlab inspect`."""
