"""`python -m bench [--quick] [--backend sqlite|postgresql|both]`."""

from bench.run import main

raise SystemExit(main())
