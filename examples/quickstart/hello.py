"""The quickstart script: runs inside the env Amber hydrates from requirements.txt."""

import sys

from dateutil.relativedelta import relativedelta
from tabulate import tabulate

rows = [
    ("python", sys.version.split()[0]),
    ("env", sys.prefix),
    ("in 3 months", str(relativedelta(months=3))),
]
print(tabulate(rows, headers=("what", "value")))
