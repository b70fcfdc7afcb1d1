"""``python -m skglm_fisher``: the command line (``--help`` lists the commands)."""

from skglm_fisher._cli import main

if __name__ == "__main__":
    raise SystemExit(main())
