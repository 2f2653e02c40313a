"""Feature services: each module turns one validated request into a change of a draft document."""
