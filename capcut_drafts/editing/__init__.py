"""Changing and managing existing drafts: the editing pipeline every editing route runs
(`pipeline`), segment updates, moves, removals and undo/redo (`segments`), atomic batches
(`batch`), the timeline view (`timeline`) and draft management (`manage`)."""
