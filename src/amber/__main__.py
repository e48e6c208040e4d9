from amber._main import entry

entry()
