from traaaction.cli import main

main()
