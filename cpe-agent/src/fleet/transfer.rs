//! Downloads of a fleet phone, on a download worker: the same file types, limits, checks and
//! fault codes as the single phone (`crate::transfer`), with the phone's own store.
//!
//! * `1 Firmware Upgrade Image`: fetched with [`cwmp_client::download`], verified while it
//!   streams ([`ImageVerifier`]: header, model, SHA-256), then "installed": the phone's
//!   `standard-software-version` becomes the image's version and the phone reboots in
//!   process; the result goes into the engine state before the new engine starts, so the boot
//!   Inform carries `1 BOOT`, `7 TRANSFER COMPLETE` and `M Download` (TR-069 Annex A.3.2.8).
//!   The image itself is not kept (a simulated phone has no flash to boot from).
//! * `3 Vendor Configuration File`: decrypted with `config-encryption-key` when set, parsed,
//!   applied atomically with [`deskphone_datamodel::apply_items`], reported at once.
//!
//! Decision: the fleet keeps no transfer journal. A transfer the engine hands out again after
//! a restart (`resumed`) is reported as failed ("interrupted by a restart", 9010) unless it
//! was a firmware image whose version is now running; the single phone's journal
//! (`crate::transfer`) is what proves exactly-once across crashes, and a load generator does
//! not need that proof per phone.

use super::phone::FleetPhone;
use super::Shared;
use crate::firmware::ImageVerifier;
use crate::transfer::{config_fault, image_fault, FIRMWARE, MAX_FIRMWARE};
use crate::vendor_config::{self, MAX_CONFIG_FILE};
use cwmp_client::download::{download, DownloadLimits, FetchRequest, TransferFault};
use cwmp_engine::{DownloadRequest, Input, TransferKind};
use cwmp_model::{DateTime, FaultCode};
use std::sync::atomic::Ordering;

/// Perform `req` for `phone` and report it to its engine.
pub fn perform(phone: &mut FleetPhone, sh: &Shared, req: DownloadRequest) {
    sh.stats.downloads.fetch_add(1, Ordering::Relaxed);
    let start = (sh.wall_clock)();
    let serial = sh.ids.serial(phone.k);
    let result = if req.resumed {
        Err(TransferFault::new(
            FaultCode::FileTransferFailure,
            "interrupted by a restart",
        ))
    } else {
        fetch_and_apply(phone, sh, &req)
    };
    let complete = (sh.wall_clock)();
    match result {
        Ok(Applied::Firmware) => {
            log::debug!("{serial}: firmware installed; rebooting");
            let mut state = phone.agent.persistent_state();
            state.complete_transfer(&req.command_key, None, start, complete);
            sh.stats.reboots.fetch_add(1, Ordering::Relaxed);
            if sh.state_mode == super::config::StateMode::Disk {
                let dir = super::phone::phone_dir(sh, phone.k);
                if let Err(e) = crate::state::save_cwmp_state(&dir, &state) {
                    log::error!("{serial}: persisting the CWMP state: {e}");
                }
            }
            phone.restart_engine(sh, state);
        }
        Ok(Applied::Config(changed)) => {
            report(phone, sh, &req, None, start, complete);
            if !changed.is_empty() {
                phone.input(sh, Input::ValueChanged { names: changed });
            }
        }
        Err(f) => {
            log::debug!("{serial}: Download {:?} failed: {f}", req.command_key);
            report(phone, sh, &req, Some(f.to_fault()), start, complete);
        }
    }
}

fn report(
    phone: &mut FleetPhone,
    sh: &Shared,
    req: &DownloadRequest,
    fault: Option<cwmp_model::Fault>,
    start: DateTime,
    complete: DateTime,
) {
    phone.input(
        sh,
        Input::TransferComplete {
            command_key: req.command_key.clone(),
            fault,
            start,
            complete,
            kind: TransferKind::Download,
        },
    );
}

enum Applied {
    Firmware,
    Config(Vec<String>),
}

fn local(e: std::io::Error) -> TransferFault {
    log::error!("fleet transfer storage: {e}");
    TransferFault::new(
        FaultCode::InternalError,
        "the phone could not store the file",
    )
}

fn fetch_and_apply(
    phone: &mut FleetPhone,
    sh: &Shared,
    req: &DownloadRequest,
) -> Result<Applied, TransferFault> {
    crate::transfer::check_file_type(&req.file_type)?;
    let item = |p: &FleetPhone, name: &str| {
        sh.model
            .item_value(p.store.backend(), name)
            .unwrap_or_default()
    };
    let mac = item(phone, "mac-address");
    let url = vendor_config::expand_mac(&req.url, &mac);
    let tls = phone
        .tls(sh)
        .map_err(|e| TransferFault::new(FaultCode::InternalError, e.to_string()))?;
    let firmware = req.file_type == FIRMWARE;
    let fetch = FetchRequest {
        url: &url,
        username: &req.username,
        password: req.password.clone(),
        file_size: u64::from(req.file_size),
        tls: &tls,
        limits: DownloadLimits {
            max_size: if firmware {
                MAX_FIRMWARE
            } else {
                MAX_CONFIG_FILE as u64
            },
            ..DownloadLimits::default()
        },
    };
    // Downloads stream to a temporary file (the single phone's downloader writes to disk);
    // it is removed as soon as the file is checked.
    std::fs::create_dir_all(&sh.tmp_dir).map_err(local)?;
    let part = RemoveOnDrop(sh.tmp_dir.join(format!("download-{}.part", phone.k)));
    let part = &part.0;
    if firmware {
        let mut verifier = Some(ImageVerifier::new(&item(phone, "device-type")));
        let mut inspect = |chunk: &[u8]| -> Result<(), TransferFault> {
            match verifier.as_mut() {
                Some(v) => v.update(chunk).map_err(image_fault),
                None => Ok(()),
            }
        };
        download(&fetch, part, &mut inspect)?;
        let header = match verifier.take().map(ImageVerifier::finish) {
            Some(Ok(h)) => h,
            Some(Err(e)) => return Err(image_fault(e)),
            None => return Err(TransferFault::new(FaultCode::InternalError, "no verifier")),
        };
        let items = [("standard-software-version".to_owned(), header.version)];
        deskphone_datamodel::apply_items(&mut phone.store, &sh.model, &items).map_err(|e| {
            TransferFault::new(
                FaultCode::FileTransferFailure,
                crate::phone::set_error_text(&e),
            )
        })?;
        Ok(Applied::Firmware)
    } else {
        download(&fetch, part, &mut |_| Ok(()))?;
        let data = std::fs::read(part).map_err(local)?;
        let file = vendor_config::read(&data, sh.config_key.as_ref().map(|k| k.expose()))
            .map_err(config_fault)?;
        let changed = deskphone_datamodel::apply_items_as(
            &mut phone.store,
            &sh.model,
            &file.items,
            cwmp_model::ValueOrigin::Acs,
        )
        .map_err(|e| {
            TransferFault::new(
                FaultCode::FileTransferFailure,
                format!(
                    "configuration file refused: {}",
                    crate::phone::set_error_text(&e)
                ),
            )
        })?;
        Ok(Applied::Config(changed))
    }
}

/// Removes the temporary download when the transfer is over, however it ended.
struct RemoveOnDrop(std::path::PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}
