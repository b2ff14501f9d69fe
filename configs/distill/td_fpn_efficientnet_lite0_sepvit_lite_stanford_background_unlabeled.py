# td_fpn_efficientnet_lite0_sepvit_lite_stanford_background.py with images
# without labels mixed into the fine-tuning batches: every .jpg under
# $DISTILL_IMAGES (by default data/unlabeled_images), drawn as often as a
# labelled image, with a label map of 255 (ignored), so that the teacher's
# logits are their only target. The cross-entropy averages over the
# labelled pixels only, so the unlabeled share does not dilute it.
_base_ = './td_fpn_efficientnet_lite0_sepvit_lite_stanford_background.py'
unlabeled_pipeline = [
    _base_.train_pipeline[0],
    dict(type='mmsepvit.UnlabeledSegMap'),
    *_base_.train_pipeline[2:],
]
train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='ConcatDataset',
        datasets=[
            _base_.train_dataloader.dataset,
            dict(
                type='BaseSegDataset',
                data_root='{{$DISTILL_IMAGES:data/unlabeled_images}}',
                data_prefix=dict(img_path=''),
                img_suffix='.jpg',
                metainfo=_base_.stanford_background.metainfo,
                pipeline=unlabeled_pipeline)
        ]))
model = dict(
    student=dict(
        decode_head=dict(loss_decode=dict(avg_non_ignore=True))))
