"""The save pipeline: download and probe media, build, write the draft folder for the app profile,
hand it out (zip, download page, install) and record the task."""
