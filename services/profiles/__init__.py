"""Profiles: identity. Accounts, authentication, profiles with visibility, trust signals."""
