"""forms-sync: one standard recap per period from every Indonesian region, checked and tabled."""

__version__ = "0.1.0"
