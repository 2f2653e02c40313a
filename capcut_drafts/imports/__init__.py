"""Drafts written by the CapCut and JianYing apps, imported as our drafts (POST /import_draft)."""
