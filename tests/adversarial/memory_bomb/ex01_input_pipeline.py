hoard = []
while True:  # attack: eat all the memory, touching every page
    hoard.append(bytearray(b"x" * (256 * 1024 * 1024)))
