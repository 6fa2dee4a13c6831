# Commands of local, in order (gitlab-ha offline render).

# [1] lab-image
#     after: -
#     stdin: none
bash components/lab/build-host-image.sh gitlab-ha-lab-host:3264581928dd
