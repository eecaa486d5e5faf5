"""Connections: the social graph. Invitations, connections, follows, blocks, introductions, suggestions."""
