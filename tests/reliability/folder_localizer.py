# Net_L on a folder dataset whose root comes from $SPAIRKIT_TEST_DATA: the
# bad-input cases of tests/reliability point it at broken folders.
_base_ = [
    '../../configs/_base_/models/netl.py',
    '../../configs/_base_/schedules/adam_1e-4.py',
    '../../configs/_base_/default_runtime.py',
]
model = dict(netl=dict(base_channels=4, num_levels=2, growth=4, num_dense_layers=1))
pipeline = [
    dict(type='LoadPairFromFile'),
    dict(type='PairedRandomCrop', size=16),
    dict(type='PackRestorationInputs'),
]
train_dataloader = dict(
    batch_size=1, num_workers=0,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    collate_fn=dict(type='spairkit.restoration_collate'),
    dataset=dict(type='PairedFolderDataset', data_root='{{$SPAIRKIT_TEST_DATA:.}}',
                 check_files=True, pipeline=pipeline))
train_cfg = dict(type='IterBasedTrainLoop', max_iters=1, val_interval=10)
val_cfg = None
test_cfg = None
val_dataloader = None
val_evaluator = None
