import filemaker_migration.emulator as emulator


def test_exported_members_are_sorted_and_importable():
    assert emulator.__all__ == sorted(emulator.__all__)
    assert all(hasattr(emulator, name) for name in emulator.__all__)
