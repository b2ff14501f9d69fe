# Copyright (c) mmsepvit contributors. All rights reserved.
import os.path as osp

from setuptools import find_packages, setup

HERE = osp.dirname(osp.abspath(__file__))


def readme():
    with open(osp.join(HERE, 'README.md'), encoding='utf-8') as f:
        return f.read()


def get_version():
    namespace = {}
    with open(osp.join(HERE, 'mmsepvit', 'version.py'), encoding='utf-8') as f:
        exec(compile(f.read(), 'version.py', 'exec'), namespace)
    return namespace['__version__']


def parse_requirements(fname):
    """Read the requirement specifiers of ``requirements/<fname>``.

    Comment lines, blank lines and ``-r`` includes are skipped; pip
    understands the specifiers as they are written.
    """
    requirements = []
    with open(osp.join(HERE, 'requirements', fname), encoding='utf-8') as f:
        for line in f:
            line = line.split('#', 1)[0].strip()
            if line and not line.startswith('-'):
                requirements.append(line)
    return requirements


if __name__ == '__main__':
    setup(
        name='mmsepvit',
        version=get_version(),
        description='SepViT (Separable Vision Transformer) backbone for '
        'mmpretrain, mmsegmentation and mmdetection',
        long_description=readme(),
        long_description_content_type='text/markdown',
        keywords='computer vision, vision transformer, SepViT, OpenMMLab',
        packages=find_packages(exclude=('configs', 'tools', 'demo', 'tests')),
        include_package_data=True,
        classifiers=[
            'Development Status :: 3 - Alpha',
            'License :: OSI Approved :: Apache Software License',
            'Operating System :: OS Independent',
            'Programming Language :: Python :: 3',
            'Programming Language :: Python :: 3.8',
            'Programming Language :: Python :: 3.9',
            'Programming Language :: Python :: 3.10',
            'Programming Language :: Python :: 3.11',
        ],
        license='Apache License 2.0',
        python_requires='>=3.8',
        install_requires=parse_requirements('runtime.txt'),
        extras_require={
            'all': parse_requirements('runtime.txt') +
            parse_requirements('optional.txt') +
            parse_requirements('deploy.txt') +
            parse_requirements('tests.txt'),
            'deploy': parse_requirements('deploy.txt'),
            'optional': parse_requirements('optional.txt'),
            'tests': parse_requirements('tests.txt'),
            'mim': parse_requirements('mminstall.txt'),
        },
        zip_safe=False)
