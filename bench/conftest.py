import os
import sys

# bench/ modules import each other by name (corpus.py)
sys.path.insert(0, os.path.dirname(__file__))
