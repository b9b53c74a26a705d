from citycam.cli import main

main()
