"""`python -m chaos [--quick] [--database-url postgresql://…]`."""

from chaos.run import main

raise SystemExit(main())
