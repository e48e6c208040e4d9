import sys

from amber._main import main

sys.exit(main())
