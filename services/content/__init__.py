"""Content: posts, topics, comment trees, shares and ranked feeds."""
