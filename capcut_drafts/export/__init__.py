"""Export of the draft document to the JSON the apps read: pyjianyingdraft objects, then the keys,
helper materials and ids each app version writes (templates/<profile>/)."""
