from bookwright.cli import main

main()
