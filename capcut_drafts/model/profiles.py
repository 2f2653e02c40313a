"""App profiles: which app and version a draft is written for.

A profile decides the catalogue family (CapCut English names or JianYing Chinese names), the
mask bucket, the platform block and (in the save pipeline) the folder layout.
"""
from dataclasses import dataclass


@dataclass(frozen=True)
class Profile:
    name: str
    app: str            # "capcut" or "jianying": selects catalogue family
    app_version: str    # version written into the platform block
    new_version: str    # schema version string the app writes for that version
    app_id: int
    app_source: str     # "cc" (CapCut) or "lv" (JianYing)
    mask_bucket: str    # materials bucket that holds masks

    @property
    def is_capcut(self) -> bool:
        return self.app == "capcut"


PROFILES = {
    p.name: p
    for p in (
        Profile("capcut", "capcut", "8.9.1", "175.0.0", 359289, "cc", "common_mask"),
        Profile("capcut_legacy", "capcut", "6.5.0", "138.0.0", 359289, "cc", "common_mask"),
        Profile("jianying", "jianying", "5.9.0", "110.0.0", 3704, "lv", "masks"),
        Profile("jianying_pro_10", "jianying", "5.9.0", "110.0.0", 3704, "lv", "masks"),
    )
}

ALIASES = {
    "jianying_legacy": "jianying",
    "jianying_10": "jianying_pro_10",
    "jianying_10_x": "jianying_pro_10",
    "jianying_pro_10_2": "jianying_pro_10",
    "jianying_pro_10_2_0": "jianying_pro_10",
}


def resolve(name: str) -> Profile:
    """Profile by name or upstream alias; ValueError lists the valid names."""
    key = ALIASES.get(name, name)
    if key not in PROFILES:
        valid = ", ".join(sorted([*PROFILES, *ALIASES]))
        raise ValueError(f"unknown draft profile '{name}'; use one of: {valid}")
    return PROFILES[key]
