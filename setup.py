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


# Each optional group once; `all` is their union.
EXTRAS = {
    name: parse_requirements(f'{name}.txt')
    for name in ('optional', 'deploy', 'mim', 'tests')
}

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
        # configs/, tools/ and model-index.yml, for mim and `mmsepvit::`
        # configs: links in the repository, copied into wheels.
        package_data={'mmsepvit': ['.mim/**/*', '.mim/*.yml']},
        classifiers=[
            'Development Status :: 3 - Alpha',
            'License :: OSI Approved :: Apache Software License',
            'Operating System :: POSIX :: Linux',
            'Programming Language :: Python :: 3',
            'Programming Language :: Python :: 3 :: Only',
            'Programming Language :: Python :: 3.11',
            'Topic :: Scientific/Engineering :: Artificial Intelligence',
        ],
        license='Apache License 2.0',
        # The pinned stack (mmcv 2.1.0 built here, mmengine 0.10.7, openmim
        # 0.3.9) is tested on 3.11 only; 3.12 breaks mim and mmcv's build.
        python_requires='>=3.11,<3.12',
        install_requires=parse_requirements('runtime.txt'),
        extras_require=dict(
            **EXTRAS, all=sorted(set().union(*EXTRAS.values()))),
        zip_safe=False)
