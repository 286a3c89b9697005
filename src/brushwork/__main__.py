"""``python -m brushwork`` (what ``torchrun -m brushwork`` runs on every rank) = the ``brushwork`` command."""

import sys

from .cli import main

sys.exit(main())
