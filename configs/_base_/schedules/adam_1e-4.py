# The paper's schedule: Adam, lr 1e-4, halved every 50 epochs. spairkit counts in
# iterations; `iters_per_epoch` converts (override it for your dataset size).
iters_per_epoch = 1000
max_iters = 200 * iters_per_epoch

optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=1e-4, betas=(0.9, 0.999)))
param_scheduler = [
    dict(type='StepLR', by_epoch=False, step_size=50 * iters_per_epoch, gamma=0.5),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=5 * iters_per_epoch)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
