from tito.main import main

main()
