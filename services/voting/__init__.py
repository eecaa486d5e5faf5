"""Voting: casting votes, the high-volume tally consumer, and anti-manipulation with explained decisions."""
