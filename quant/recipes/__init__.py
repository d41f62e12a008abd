"""Shipped quantization recipes (TOML data read by quant.recipe); a package so that wheels include them."""
