"""Chat templates embedded in converted GGUFs (data read by quant.tokenizer); a package so wheels include them."""
