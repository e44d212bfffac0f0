"""Pipeline, study state, edits and autosave: combines data, analysis and ml. No Qt."""
