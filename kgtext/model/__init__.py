"""PyTorch: the ERNIE 3.0 dual-module Transformer-XL model and its pre-training trainer over corpus shards."""
