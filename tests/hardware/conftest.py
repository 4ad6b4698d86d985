"""tests/hardware: the QEMU guest bed. The checks in inside/ run only inside the guest
(``test_guest_bed.py`` boots it and reports each of them here)."""

import os

collect_ignore = [] if os.environ.get("SENTRYCAM_IN_GUEST") else ["inside"]
