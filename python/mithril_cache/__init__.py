"""mithril-cache: a bounded, verified, portable cache for torch.compile and Triton."""
