"""``python -m fastproxy.bench``: the same as ``fastproxy bench``."""

import argparse

from fastproxy.bench import main
from fastproxy.bench.options import DESCRIPTION, add_arguments

parser = argparse.ArgumentParser(prog="python -m fastproxy.bench", description=DESCRIPTION)
add_arguments(parser)
try:
    raise SystemExit(main(parser.parse_args()))
except KeyboardInterrupt:
    raise SystemExit(130) from None
