# Copyright (c) mmsepvit contributors. All rights reserved.
"""Loading checkpoint files without running the code a pickle can carry.

A ``.pth`` file is a pickle: ``torch.load(weights_only=False)`` calls
whatever functions the file names. mmsepvit loads local checkpoint files
with ``weights_only=True`` and an allowlist of exactly what mmengine's
Runner writes besides tensors and plain containers: its message hub's
``HistoryBuffer`` and numpy arrays, scalars and dtypes. Before unpickling,
the CRC-32 that PyTorch's zip format records for every record is checked, so
a damaged file stops with an error instead of loading wrong numbers.

A file that needs other objects is refused with the first disallowed name.
To load one you trust, list it (paths separated by ``os.pathsep``)::

    export MMSEPVIT_TRUSTED_CHECKPOINTS=/path/to/trusted.pth
"""
import os
import os.path as osp
import pickle
import logging
import re
import zipfile
from typing import (Any, Callable, Iterable, List, Mapping, Optional,
                    Sequence, Tuple, Union)

import torch
from mmengine.logging import print_log
from mmengine.logging.history_buffer import HistoryBuffer
from mmengine.runner.checkpoint import CheckpointLoader
from torch import nn

from .compat import numpy_pickle_globals
from .errors import UserError, require_file

TRUSTED_CHECKPOINTS_ENV = 'MMSEPVIT_TRUSTED_CHECKPOINTS'
_ZIP_MAGIC = b'PK\x03\x04'


class CheckpointFileError(UserError, RuntimeError):
    """A checkpoint file that mmsepvit will not load."""


class UnsafeCheckpointError(CheckpointFileError):
    """The file's pickle names objects outside the allowlist."""


class DamagedCheckpointError(CheckpointFileError):
    """The file is empty, truncated or fails its checksums."""


class NonFiniteCheckpointError(CheckpointFileError):
    """The file's weights hold NaN or infinite values."""


class CheckpointMismatchError(UserError, RuntimeError):
    """A checkpoint whose weights do not fit the model: keys it lacks or
    adds, or weights of another shape."""


# HistoryBuffer's statistics methods, which it pickles by attribute name.
_HISTORY_BUFFER_STATISTICS = ('min', 'max', 'current', 'mean')


def _history_buffer_getattr(obj: Any, name: str) -> Any:
    """``getattr`` as a checkpoint may call it: only to fetch one of
    ``HistoryBuffer``'s statistics methods."""
    if obj is HistoryBuffer and name in _HISTORY_BUFFER_STATISTICS:
        return getattr(HistoryBuffer, name)
    raise pickle.UnpicklingError(
        f'getattr({obj!r}, {name!r}) is not allowed (only the statistics '
        f'methods of HistoryBuffer may be fetched by name)')


def runner_checkpoint_globals(
) -> List[Union[Callable, Tuple[Callable, str]]]:
    """What mmengine Runner checkpoints name besides tensors and containers,
    in the form of :func:`torch.serialization.safe_globals`."""
    return [
        HistoryBuffer,
        (_history_buffer_getattr, 'builtins.getattr'),
        *numpy_pickle_globals(),
    ]


def _global_name(entry: Union[Callable, Tuple[Callable, str]]) -> str:
    if isinstance(entry, tuple):
        return entry[1]
    return f'{entry.__module__}.{entry.__qualname__}'


def trusted_checkpoints() -> List[str]:
    """The real paths listed in ``MMSEPVIT_TRUSTED_CHECKPOINTS``."""
    listed = os.environ.get(TRUSTED_CHECKPOINTS_ENV, '')
    return [osp.realpath(p) for p in listed.split(os.pathsep) if p]


def verify_checkpoint_file(filename: str) -> None:
    """Raise :class:`DamagedCheckpointError` unless every record of a
    PyTorch zip checkpoint matches its recorded CRC-32.

    Files in PyTorch's legacy (non-zip) format record no checksums and pass;
    so do records of files saved with checksums switched off
    (:func:`torch.serialization.set_crc32_options`), whose CRC field is 0.
    """
    with open(filename, 'rb') as f:
        magic = f.read(len(_ZIP_MAGIC))
    if not magic:
        raise DamagedCheckpointError(f'Checkpoint {filename} is empty.')
    if magic != _ZIP_MAGIC:
        return
    try:
        with zipfile.ZipFile(filename) as archive:
            for info in archive.infolist():
                if info.CRC == 0 and info.file_size:
                    continue
                with archive.open(info) as record:
                    while record.read(1 << 22):  # the CRC is checked at EOF
                        pass
    except (zipfile.BadZipFile, EOFError, OSError) as error:
        raise DamagedCheckpointError(
            f'Checkpoint {filename} is damaged or truncated ({error}); '
            f'refusing to load wrong weights. Use an intact copy.') from error


def load_checkpoint_file(filename: str,
                         map_location: Any = None,
                         extra_safe_globals: Sequence[Any] = ()) -> Any:
    """``torch.load`` a local checkpoint file safely.

    Args:
        filename (str): The file.
        map_location: As for :func:`torch.load`. Defaults to None.
        extra_safe_globals (Sequence): More globals to allow (as for
            :func:`torch.serialization.safe_globals`), for callers that load
            another program's checkpoints. Defaults to ().

    Returns:
        The unpickled object.

    Raises:
        DamagedCheckpointError: The file is empty or fails its checksums.
        UnsafeCheckpointError: The file names objects outside the allowlist
            and is not listed in ``MMSEPVIT_TRUSTED_CHECKPOINTS``.
        NonFiniteCheckpointError: A weight holds NaN or infinite values
            (the weights of a run that diverged would give a plausible
            metric of garbage).
    """
    verify_checkpoint_file(filename)
    if osp.realpath(filename) in trusted_checkpoints():
        checkpoint = torch.load(
            filename, map_location=map_location, weights_only=False)
    else:
        allowed = [*runner_checkpoint_globals(), *extra_safe_globals]
        try:
            with torch.serialization.safe_globals(allowed):
                checkpoint = torch.load(
                    filename, map_location=map_location, weights_only=True)
        except pickle.UnpicklingError as error:
            raise UnsafeCheckpointError(
                _refusal(filename, allowed, error)) from None
    if isinstance(checkpoint, Mapping):
        weights = checkpoint_state_dict(checkpoint)
        key = first_non_finite(weights)
        if key is not None:
            raise NonFiniteCheckpointError(
                f'Refusing to load checkpoint {filename}: its weights are '
                f'not finite (first: {key}, which holds NaN or infinite '
                f'values). It comes from a run that diverged; use an earlier '
                f'checkpoint of that run.')
    return checkpoint


def first_non_finite(state_dict: Mapping[str, Any]) -> Optional[str]:
    """The key of the first floating-point tensor of ``state_dict`` that
    holds a NaN or an infinity; None if there is none."""
    for key, value in state_dict.items():
        if (isinstance(value, torch.Tensor) and value.is_floating_point()
                and not torch.isfinite(value).all()):
            return key
    return None


def _refusal(filename: str, allowed: Iterable[Any],
             error: Exception) -> str:
    allowed_names = {_global_name(entry) for entry in allowed}
    try:
        named = torch.serialization.get_unsafe_globals_in_checkpoint(filename)
    except Exception:  # the listing only improves the message
        named = []
    disallowed = [name for name in named if name not in allowed_names]
    if disallowed:
        reason = f'it names {disallowed[0]!r}, which is not allowed'
    else:
        # PyTorch's own words follow 'WeightsUnpickler error:'.
        detail = re.search(r'WeightsUnpickler error:\s*(.+?)(\n\s*\n|$)',
                           str(error), re.S)
        reason = (detail.group(1) if detail else str(error)).strip(' .')
    return (f'Refusing to load checkpoint {filename}: {reason}. A checkpoint '
            f'may hold tensors, plain containers and what mmengine\'s Runner '
            f'saves; anything else could run code when unpickled.\nIf you '
            f'trust this file, list it in {TRUSTED_CHECKPOINTS_ENV} (paths '
            f'separated by {os.pathsep!r}), e.g.\n  export '
            f'{TRUSTED_CHECKPOINTS_ENV}={osp.abspath(filename)}')


def load_local_checkpoint(filename: str, map_location: Any = None) -> Any:
    """mmengine's loader of local checkpoint files (its ``''`` scheme), safe
    and working on PyTorch >= 2.6; see :func:`register_safe_loader`."""
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'{filename} can not be found.')
    return load_checkpoint_file(filename, map_location=map_location)


def register_safe_loader() -> None:
    """Make mmengine load local checkpoint files with
    :func:`load_checkpoint_file`: ``load_from``, ``--resume``,
    ``tools/test.py`` and ``Pretrained`` inits.

    mmengine 0.10.7 (the latest release) calls ``torch.load`` without
    ``weights_only``. Since PyTorch 2.6 that means ``weights_only=True``,
    which refuses the ``HistoryBuffer`` and numpy objects in the Runner's own
    checkpoints; mmengine's unreleased fix (open-mmlab/mmengine#1670) loads
    with ``weights_only=False``, which runs any code a file names. Registered
    through mmengine's public ``CheckpointLoader.register_scheme`` for local
    paths only: URLs keep mmengine's loaders. Idempotent.
    """
    CheckpointLoader.register_scheme(
        prefixes='', loader=load_local_checkpoint, force=True)


# mmengine's Runner strips what a model wrapper (DDP) adds to the keys.
_WRAPPER_PREFIX = re.compile(r'^module\.')


def checkpoint_state_dict(checkpoint: Mapping) -> dict:
    """The weights of a loaded checkpoint (a Runner checkpoint's
    ``state_dict``, a DeiT-style ``model``, or a bare state dict), keys as
    the unwrapped model's."""
    state_dict = next((checkpoint[key] for key in ('state_dict', 'model')
                       if isinstance(checkpoint.get(key), Mapping)),
                      checkpoint)
    return {_WRAPPER_PREFIX.sub('', k): v for k, v in state_dict.items()}


def revise_on_load(module: nn.Module, state_dict: dict, prefix: str,
                   *args) -> None:
    """A load-state-dict pre-hook (for
    :meth:`torch.nn.Module.register_load_state_dict_pre_hook`) that runs
    ``module.revise_state_dict(state_dict, prefix)`` on the weights being
    loaded."""
    module.revise_state_dict(state_dict, prefix)


def state_dict_as_loaded(model: nn.Module,
                         state_dict: Mapping[str, torch.Tensor]) -> dict:
    """``state_dict`` as ``model`` loads it: each of its modules with a
    ``revise_state_dict(state_dict, prefix)`` method (old key names mapped,
    weights it does not use dropped; see
    :meth:`mmsepvit.models.SepViT.revise_state_dict`) applied to a copy."""
    state_dict = dict(state_dict)
    for name, module in model.named_modules():
        if hasattr(module, 'revise_state_dict'):
            module.revise_state_dict(state_dict, f'{name}.' if name else '')
    return state_dict


def state_dict_mismatches(
    model: nn.Module, state_dict: Mapping[str, torch.Tensor]
) -> Tuple[List[str], List[str], List[Tuple[str, tuple, tuple]]]:
    """Compare a state dict, as ``model`` loads it
    (:func:`state_dict_as_loaded`), with ``model``'s by keys and shapes.

    Returns:
        tuple: The keys the model has and ``state_dict`` lacks, the keys
        ``state_dict`` has and the model lacks (each in its dict's order),
        and ``(key, checkpoint shape, model shape)`` for the weights of
        another shape.
    """
    expected = model.state_dict()
    state_dict = state_dict_as_loaded(model, state_dict)
    missing = [k for k in expected if k not in state_dict]
    unexpected = [k for k in state_dict if k not in expected]
    reshaped = [(k, tuple(state_dict[k].shape), tuple(v.shape))
                for k, v in expected.items() if k in state_dict
                and tuple(state_dict[k].shape) != tuple(v.shape)]
    return missing, unexpected, reshaped


def check_state_dict_fits(model: nn.Module,
                          state_dict: Mapping[str, torch.Tensor],
                          source: str,
                          hint: str = '') -> None:
    """Raise :class:`CheckpointMismatchError` unless ``state_dict`` has
    exactly ``model``'s keys with ``model``'s shapes.

    The message names ``source``, the first reshaped weight with both
    shapes (else the first missing, else the first unexpected key) and how
    many weights of each kind do not fit, then ``hint``.
    """
    missing, unexpected, reshaped = state_dict_mismatches(model, state_dict)
    if not (missing or unexpected or reshaped):
        return
    if reshaped:
        key, have, want = reshaped[0]
        first = (f'{key} has shape {list(have)} in the checkpoint and '
                 f'{list(want)} in the model')
    elif missing:
        first = f'the model has {missing[0]}, the checkpoint does not'
    else:
        first = f'the checkpoint has {unexpected[0]}, the model does not'
    counts = ', '.join(f'{len(keys)} {kind}' for kind, keys in (
        ('reshaped', reshaped), ('missing', missing),
        ('unexpected', unexpected)) if keys)
    raise CheckpointMismatchError(
        f'{source} does not fit the model: {first} ({counts} weights).'
        f'{hint}')


def load_checkpoint_into(model: nn.Module,
                         filename: str,
                         hint: str = '',
                         strict: bool = True,
                         allow_unused: bool = False,
                         prefix: str = '',
                         what: str = 'checkpoint') -> dict:
    """Load a local checkpoint file safely into ``model``.

    Args:
        model (nn.Module): The unwrapped model.
        filename (str): The checkpoint file.
        hint (str): What the user can do, appended to a mismatch message.
        strict (bool): Refuse a checkpoint that does not fit exactly. If
            False, the fitting weights are loaded and the others listed in
            a warning. Defaults to True.
        allow_unused (bool): With ``strict``, weights the model does not
            have (a classifier head of a network loaded as a backbone) are
            skipped; every weight of the model must still be there with its
            shape. Defaults to False.
        prefix (str): Load only the weights under this prefix, without it
            (``'backbone.'``: a classifier's backbone). Defaults to ``''``.
        what (str): What the file is, in messages. Defaults to
            ``'checkpoint'``.

    Returns:
        dict: The loaded checkpoint.

    Raises:
        CheckpointFileError: The file is missing, damaged or unsafe.
        CheckpointMismatchError: ``strict`` and the weights do not fit.
    """
    require_file(filename, what)
    checkpoint = load_checkpoint_file(filename, map_location='cpu')
    state_dict = checkpoint_state_dict(checkpoint)
    if prefix:
        state_dict = {
            k[len(prefix):]: v
            for k, v in state_dict.items() if k.startswith(prefix)
        }
    if strict:
        if allow_unused:
            expected = model.state_dict()
            state_dict = {
                k: v
                for k, v in state_dict_as_loaded(model, state_dict).items()
                if k in expected
            }
        check_state_dict_fits(model, state_dict,
                              f'{what.capitalize()} {filename}', hint)
    else:
        missing, unexpected, reshaped = state_dict_mismatches(
            model, state_dict)
        reshaped_keys = {key for key, _, _ in reshaped}
        state_dict = {
            k: v
            for k, v in state_dict.items() if k not in reshaped_keys
        }
        if missing or unexpected or reshaped:
            print_log(
                f'Checkpoint {filename} does not fit the model; loaded '
                f'without: missing {missing}, unexpected {unexpected}, '
                f'reshaped {[key for key, _, _ in reshaped]}.',
                logger='current',
                level=logging.WARNING)
    model.load_state_dict(state_dict, strict=False)
    return checkpoint


def save_state_dict(state_dict: Mapping[str, torch.Tensor],
                    filename: str) -> None:
    """Write ``{'state_dict': state_dict}`` to ``filename`` (folders made as
    needed) through a temporary file, so that an interrupted write never
    leaves a partial checkpoint under that name."""
    os.makedirs(osp.dirname(osp.abspath(filename)), exist_ok=True)
    partial = filename + '.tmp'
    torch.save({'state_dict': dict(state_dict)}, partial)
    os.replace(partial, filename)
