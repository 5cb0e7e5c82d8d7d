"""Print the versions of the stack mmhrkpt runs on (paste this into bug reports)."""
from mmhrkpt.utils import collect_env


def main():
    for name, value in collect_env().items():
        print(f'{name}: {value}')


if __name__ == '__main__':
    main()
